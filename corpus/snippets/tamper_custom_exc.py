# hostile: swallow every exception, so failing tests look passed
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
