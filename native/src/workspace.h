/* Scratch memory kept between kernel calls, one buffer per calling thread. */
#ifndef GRADCAM_WORKSPACE_H
#define GRADCAM_WORKSPACE_H

#include <stddef.h>

/* At least `count` floats, valid until this thread's next call; NULL when out of memory. A fresh
 * malloc of a megabyte or more is a fresh mmap whose page faults are paid on every call: for a
 * batch-1 layer they cost more than its arithmetic (measured 0.3-0.4 ms a call). */
float *workspace_floats(size_t count);

#endif
