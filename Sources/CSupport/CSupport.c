// Everything in CSupport is static inline in the header; SwiftPM wants one source file.
#include "CSupport.h"
