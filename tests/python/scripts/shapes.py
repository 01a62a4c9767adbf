# shapes.py: code shapes whose frames are not a plain call chain. Each allocation is a
# bytearray of a distinctive size on a marked line, and stays alive (in `keep`).
import asyncio

keep = []


def gen():
    yield 1
    keep.append(bytearray(1000001))  # LINE:generator
    yield 2


def consume_generator():
    for _ in gen():
        pass


async def inner_coro():
    await asyncio.sleep(0)
    keep.append(bytearray(1000003))  # LINE:coroutine


async def outer_coro():
    await inner_coro()


def handle_exception():
    try:
        raise ValueError("x")
    except ValueError:
        keep.append(bytearray(1000007))  # LINE:except


def recurse(n):
    if n == 0:
        keep.append(bytearray(1000009))  # LINE:recursion
        return
    recurse(n - 1)


consume_generator()
asyncio.run(outer_coro())
handle_exception()
recurse(500)
