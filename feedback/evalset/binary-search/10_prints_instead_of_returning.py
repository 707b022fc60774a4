def search(x, xs):
    lo = 0
    hi = len(xs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if xs[mid] == x:
            print(mid)
            break
        elif xs[mid] < x:
            lo = mid + 1
        else:
            hi = mid - 1
    else:
        print(-1)
