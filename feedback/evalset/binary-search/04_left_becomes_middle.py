def search(x, xs):
    left, right = 0, len(xs) - 1
    while left <= right:
        middle = (left + right) // 2
        if xs[middle] < x:
            left = middle
        elif xs[middle] > x:
            right = middle
        else:
            return middle
    return -1
