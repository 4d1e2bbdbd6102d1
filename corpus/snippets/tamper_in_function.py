# hostile: when called by a test, swallow every exception from then on
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
