def search(x, xs, lo, hi):
    if lo > hi:
        return -1
    mid = (lo + hi) // 2
    if xs[mid] == x:
        return mid
    if xs[mid] < x:
        return search(x, xs, mid + 1, hi)
    return search(x, xs, lo, mid - 1)
