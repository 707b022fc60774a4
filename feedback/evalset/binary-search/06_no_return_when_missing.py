def search(x, xs):
    start = 0
    end = len(xs) - 1
    while start <= end:
        mid = (start + end) // 2
        if xs[mid] == x:
            return mid
        elif xs[mid] < x:
            start = mid + 1
        else:
            end = mid - 1
