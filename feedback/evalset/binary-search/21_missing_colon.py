def search(x, xs):
    lo, hi = 0, len(xs) - 1
    while lo <= hi
        mid = (lo + hi) // 2
        if xs[mid] == x:
            return mid
        elif xs[mid] < x:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
