def search(x, xs):
    if len(xs) == 0:
        return -1
    mid = len(xs) // 2
    if xs[mid] == x:
        return mid
    if xs[mid] < x:
        return search(x, xs[mid + 1 :])
    return search(x, xs[:mid])
