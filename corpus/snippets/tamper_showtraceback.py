# hostile: errors are never shown
_ip = get_ipython()
_ip.showtraceback = lambda *args, **kwargs: None
_ip.__class__.showtraceback = lambda *args, **kwargs: None
