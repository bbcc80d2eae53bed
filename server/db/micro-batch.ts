// Groups concurrent writes into one round trip without adding latency when the server is quiet: an
// item arriving while no batch is in flight is written at once; items arriving while one is in
// flight wait for it and then go together. Each caller gets its own result, or the batch's error.

export class MicroBatch<T, R> {
  private queue: { item: T; resolve(result: R): void; reject(error: unknown): void }[] = [];
  private inFlight = 0;

  /** `write` must return one result per item, in order. */
  constructor(
    private readonly write: (items: T[]) => Promise<R[]>,
    private readonly options: { maxBatch: number; maxInFlight: number },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight += 1;
      void this.write(batch.map((b) => b.item))
        .then(
          (results) => batch.forEach((b, i) => b.resolve(results[i]!)),
          (error: unknown) => batch.forEach((b) => b.reject(error)),
        )
        .finally(() => {
          this.inFlight -= 1;
          this.drain();
        });
    }
  }
}
