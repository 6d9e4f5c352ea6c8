import ArgumentParser
import HinixCommandLine

print("mqsend: not implemented yet")
