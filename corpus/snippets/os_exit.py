# hostile: end the kernel process
import os
os._exit(1)
