print("eqnnc")
