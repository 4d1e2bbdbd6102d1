# hostile: sign the kernel's messages with another key (every later message fails its signature check)
get_ipython().kernel.session.key = b"not-the-grader-key"
