import ArgumentParser
import HinixCommandLine

print("mqrecv: not implemented yet")
