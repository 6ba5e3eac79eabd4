message = "staging says hello"
