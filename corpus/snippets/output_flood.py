# hostile: flood the grader with output
while True:
    print("flood " * 2000)
