# calls.py: frames entered from C: a class's __init__ (3.13 runs it behind a shim frame)
# and a hook that the json module's C scanner calls back into (a nested evaluator).
import json

keep = []


class Holder:
    def __init__(self):
        keep.append(bytearray(700001))  # LINE:init


def make():
    return Holder()  # LINE:make


def hook(d):
    keep.append(bytearray(700003))  # LINE:hook
    return d


make()
json.loads('{"a": 1}', object_hook=hook)  # LINE:loads
