def fizz(i):
    if i % 15 == 0:
        return "FizzBuzz"
    if i % 3 == 0:
        return "Fizz"
    if i % 5 == 0:
        return "Buzz"
    return str(i)


if __name__ == "__main__":
    n = int(input())
    for i in range(1, n + 1):
        print(fizz(n))
