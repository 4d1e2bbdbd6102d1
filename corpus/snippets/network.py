# hostile: reach a server on the grading machine and the internet; print LEAK on success
import socket
for host, port in [("127.0.0.1", {PORT}), ("{HOST_IP}", {PORT}), ("pypi.org", 443)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("LEAK connect", host, port)
    except OSError:
        print("SAFE connect", host, port)
