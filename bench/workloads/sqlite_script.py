#!/usr/bin/python3
"""sqlite_script: writes the SQL script of the sqlite3 workload.

    /usr/bin/python3 bench/workloads/sqlite_script.py [--rows N] -o FILE
    sqlite3 -batch -init /dev/null :memory: ".read FILE"

The script creates a table, inserts N rows (default 200000) one INSERT statement each
inside one transaction, creates two indexes, runs aggregate queries, an update and a
delete. The database is in memory, so its pages are heap blocks. The rows come from a
seeded generator: the same N gives the same script and the same query output.
"""
import argparse
import random
import sys

DEFAULT_ROWS = 200_000
REGIONS = ["north", "south", "east", "west", "centre", "islands"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def write_script(out, rows):
    rng = random.Random(20240607)
    w = out.write
    w("CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, region TEXT NOT NULL,"
      " amount REAL NOT NULL, qty INTEGER NOT NULL, note TEXT);\n")
    w("BEGIN;\n")
    for i in range(1, rows + 1):
        customer = "cust-%05d" % rng.randrange(5000)
        region = REGIONS[rng.randrange(len(REGIONS))]
        amount = rng.randrange(100, 100000) / 100.0
        qty = rng.randrange(1, 13)
        note = " ".join(WORDS[rng.randrange(len(WORDS))] for _ in range(rng.randrange(1, 6)))
        w("INSERT INTO orders VALUES(%d,'%s','%s',%.2f,%d,'%s');\n" % (i, customer, region, amount, qty, note))
    w("COMMIT;\n")
    w("CREATE INDEX orders_customer ON orders(customer);\n")
    w("CREATE INDEX orders_region_amount ON orders(region, amount);\n")
    w("SELECT region, count(*), round(sum(amount), 2), round(avg(qty), 4) FROM orders"
      " GROUP BY region ORDER BY region;\n")
    w("SELECT customer, count(*) AS n, round(sum(amount), 2) FROM orders"
      " GROUP BY customer ORDER BY n DESC, customer LIMIT 10;\n")
    w("SELECT count(DISTINCT customer), count(DISTINCT note) FROM orders;\n")
    w("SELECT qty, round(max(amount), 2), min(id) FROM orders WHERE region = 'east'"
      " GROUP BY qty ORDER BY qty;\n")
    w("SELECT count(*) FROM orders JOIN (SELECT customer FROM orders GROUP BY customer"
      " HAVING count(*) > 40) USING (customer);\n")
    w("SELECT length(group_concat(substr(note, 1, 3), '')) FROM orders WHERE amount > 500;\n")
    w("UPDATE orders SET amount = amount * 1.1 WHERE qty > 7;\n")
    w("SELECT round(sum(amount), 2) FROM orders;\n")
    w("DELETE FROM orders WHERE id % 3 = 0;\n")
    w("SELECT count(*), round(sum(amount), 2) FROM orders WHERE region BETWEEN 'east' AND 'south';\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows to insert (default %(default)s)")
    parser.add_argument("-o", "--output", required=True, help="where the SQL script goes ('-': stdout)")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows: expected at least 1")
    if args.output == "-":
        write_script(sys.stdout, args.rows)
    else:
        with open(args.output, "w") as out:
            write_script(out, args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
