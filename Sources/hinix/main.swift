import ArgumentParser
import HinixCommandLine

print("hinix: not implemented yet")
