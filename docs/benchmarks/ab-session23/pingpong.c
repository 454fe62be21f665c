/* Two pinned threads (CPUs 0 and 1): a round trip on one cache line, and a 1 MB buffer
   written on CPU 0 and summed on CPU 1 against on CPU 0. Session 23 ran it beside the
   hand-off probe to see what the VM's slow state is: gcc -O3 -march=native -ffast-math
   -pthread pingpong.c -o pingpong && ./pingpong */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static _Atomic long flag __attribute__((aligned(64)));
static long iters = 200000;
static float *buf; static size_t nbuf = (1<<20)/4; /* 1 MB */
static double now(){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec+t.tv_nsec*1e-9;}
static void pin(int c){cpu_set_t s; CPU_ZERO(&s); CPU_SET(c,&s); pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void *other(void *a){ pin(1);
  for (long i=0;i<iters;i++){ while(atomic_load_explicit(&flag,memory_order_acquire)!=2*i+1); atomic_store_explicit(&flag,2*i+2,memory_order_release);} 
  return 0;}
static _Atomic int phase;
static volatile double sink;
static void *reader(void *a){ pin(1);
  for (int r=0;r<50;r++){ while(atomic_load(&phase)!=2*r+1); double s=0; for(size_t i=0;i<nbuf;i++) s+=buf[i]; sink=s; atomic_store(&phase,2*r+2);} return 0;}
int main(){
  pin(0); pthread_t t; pthread_create(&t,0,other,0);
  double t0=now();
  for (long i=0;i<iters;i++){ atomic_store_explicit(&flag,2*i+1,memory_order_release); while(atomic_load_explicit(&flag,memory_order_acquire)!=2*i+2);} 
  double t1=now(); pthread_join(t,0);
  printf("ping-pong round trip %.0f ns\n",(t1-t0)/iters*1e9);
  buf = aligned_alloc(64, nbuf*4);
  /* write on core 0 then read on core 1 vs read on core 0 */
  pthread_create(&t,0,reader,0);
  double cross=0, self=0;
  for (int r=0;r<50;r++){
    for(size_t i=0;i<nbuf;i++) buf[i]=r+i;
    double a=now(); atomic_store(&phase,2*r+1); while(atomic_load(&phase)!=2*r+2); cross+=now()-a;
    for(size_t i=0;i<nbuf;i++) buf[i]=r-i;
    a=now(); double s=0; for(size_t i=0;i<nbuf;i++) s+=buf[i]; sink=s; self+=now()-a;
  }
  pthread_join(t,0);
  printf("1 MB written on cpu0: read on cpu1 %.0f us, on cpu0 %.0f us\n", cross/50*1e6, self/50*1e6);
}
