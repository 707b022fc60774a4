def search(x, xs):
    low = 0
    high = len(xs) - 1
    mid = (low + high) // 2
    while low <= high:
        if xs[mid] == x:
            return mid
        elif xs[mid] < x:
            low = mid + 1
        else:
            high = mid - 1
    return -1
