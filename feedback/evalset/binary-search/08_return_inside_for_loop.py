def search(x, xs):
    for i in range(len(xs)):
        if xs[i] == x:
            return i
        else:
            return -1
