def fizz(i):
    word = ""
    if i % 3 == 0:
        word = "Fizz"
    if i % 5 == 0:
        word = "Buzz"
    if word == "":
        word = str(i)
    return word


if __name__ == "__main__":
    n = int(input())
    for i in range(1, n + 1):
        print(fizz(i))
