// CNet: libnet for Swift (ARP and neighbour frames are crafted with it). Include only.
#ifndef SWIFTLVS_CNET_SHIM_H
#define SWIFTLVS_CNET_SHIM_H
#include <libnet.h>
#endif
