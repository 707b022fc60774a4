def fizz(i):
    if i % 15 == 0:
        print("FizzBuzz")
    elif i % 3 == 0:
        print("Fizz")
    elif i % 5 == 0:
        print("Buzz")
    else:
        print(i)


if __name__ == "__main__":
    n = int(input())
    for i in range(1, n + 1):
        fizz(i)
