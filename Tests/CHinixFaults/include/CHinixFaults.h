// CHinixFaults: an LD_PRELOAD library that breaks one documented behaviour of
// the POSIX message queue and eventfd entry points, chosen by HINIX_FAULT, so
// that the tests can show `hinix conform` notices it. It exports no API of its
// own; this header only names the faults.
#ifndef CHINIX_FAULTS_H
#define CHINIX_FAULTS_H

/// The fault this process injects, as named in HINIX_FAULT, or "" for none.
const char *CHinixFaults_active(void);

#endif
