print("lvsd")
