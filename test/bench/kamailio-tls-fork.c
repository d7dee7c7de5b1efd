/*
 * LD_PRELOAD shim for Kamailio 5.6 with OpenSSL 3 (Debian bookworm), used
 * by kamailio-ws.sh only.
 *
 * Kamailio's main process initialises libssl before forking its workers,
 * and OpenSSL 3 keeps per-thread state (error queue, ...) behind pthread
 * keys, allocated in Kamailio's shared memory. Every forked worker then
 * inherits the same pointers and the workers free each other's state:
 * "qm_free(): BUG: freeing already freed pointer ... tls_init.c: ser_free"
 * and a worker killed by SIGABRT within a few hundred WSS connections
 * (kamailio issues #3205, #3635, #4055). Kamailio 5.7.5 and 5.8 fixed it
 * with the core parameter tls_threads_mode=2, which registers
 *
 *     pthread_atfork(NULL, NULL, fork_child);
 *
 * where fork_child clears the thread-locals of OpenSSL's keys in each
 * child, so that every worker makes its own (src/modules/tls/tls_mod.c).
 * 5.6 has no such parameter; this shim does the same from outside: in each
 * forked child, every pthread key below KEYS with a value is cleared.
 * Kamailio itself and the libraries it loads here use no other pthread
 * keys whose values must survive a fork.
 *
 * Build: gcc -shared -fPIC -O2 -o kamailio-tls-fork.so kamailio-tls-fork.c
 */
#include <pthread.h>

#define KEYS 64

static void fork_child(void)
{
	for(pthread_key_t k = 0; k < KEYS; k++) {
		if(pthread_getspecific(k) != NULL)
			pthread_setspecific(k, NULL);
	}
}

__attribute__((constructor)) static void init(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}
