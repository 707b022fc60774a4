def search(x, xs, lo=0, hi=None):
    if hi is None:
        hi = len(xs) - 1
    mid = (lo + hi) // 2
    if xs[mid] == x:
        return mid
    if xs[mid] < x:
        return search(x, xs, mid + 1, hi)
    return search(x, xs, lo, mid - 1)
