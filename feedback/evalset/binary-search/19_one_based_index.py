def search(x, xs):
    first = 0
    last = len(xs) - 1
    while first <= last:
        mid = (first + last) // 2
        if xs[mid] == x:
            return mid + 1
        elif xs[mid] < x:
            first = mid + 1
        else:
            last = mid - 1
    return -1
