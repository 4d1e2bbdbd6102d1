# hostile: from here on no cell really runs, and every cell reports success
_shell = get_ipython()
_shell.run_cell = lambda *args, **kwargs: None
_shell.run_cell_async = None
