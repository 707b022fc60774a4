def fizz(i):
    if i % 3 == 0 and i % 5 == 0:
        return "Fizz Buzz"
    elif i % 3 == 0:
        return "Fizz"
    elif i % 5 == 0:
        return "Buzz"
    return str(i)


if __name__ == "__main__":
    n = int(input())
    for i in range(1, n + 1):
        print(fizz(i))
