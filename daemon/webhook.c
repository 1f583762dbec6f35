/* webhook.c: placeholder */
#include "roomd.h"
#include "backend.h"
void webhook_start(void) {}
void webhook_stop(void) {}
void webhook_metrics(struct buf *b) { (void)b; }
