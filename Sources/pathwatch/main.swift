print("pathwatch: under construction")
