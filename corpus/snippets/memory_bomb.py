# hostile: allocate (and touch) memory until something gives
hoard = []
while True:
    hoard.append(bytearray(200 * 1024 * 1024))
