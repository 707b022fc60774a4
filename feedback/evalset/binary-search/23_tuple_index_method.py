def search(x, xs):
    # tuples already know how to find things
    position = xs.index(x)
    if position >= 0:
        return position
    return -1
