# hostile: a loop that never ends (the cell time limit must stop it, the rest must still run)
while True:
    pass
