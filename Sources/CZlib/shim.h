// zlib's headers for the Batch module's gzip readers and writers; nothing else.
#include <zlib.h>
