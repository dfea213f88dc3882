/**
 * The record writer's queue storage: a bounded FIFO on one array, for
 * `Queue.make` with the back-pressure or dropping strategy. Effect's own
 * bounded queues keep a linked list and take a batch by prepending each
 * element to a `Chunk` and reversing it, several objects per record (~2 KiB
 * per gateway request, bench/memory.ts `MEMORY_ALLOC=1`); here a batch is
 * one array slice.
 */
import { Chunk, Queue } from "effect"

/** Compact the array once this many taken slots lead it (and they are half of it). */
const compactAfter = 1024

class ArrayBacking<A> implements Queue.BackingQueue<A> {
  readonly [Queue.BackingQueueTypeId] = { _A: (a: A) => a }
  private items: Array<A> = []
  private head = 0

  constructor(private readonly max: number) {}

  poll<Def>(def: Def): A | Def {
    if (this.head === this.items.length) return def
    const item = this.items[this.head]!
    this.items[this.head] = undefined as A
    this.head++
    this.compact()
    return item
  }

  pollUpTo(limit: number): Chunk.Chunk<A> {
    const n = Math.min(limit, this.length())
    if (n <= 0) return Chunk.empty()
    const taken = this.items.slice(this.head, this.head + n)
    this.head += n
    this.compact()
    return Chunk.unsafeFromArray(taken)
  }

  offerAll(elements: Iterable<A>): Chunk.Chunk<A> {
    const rest: Array<A> = []
    for (const element of elements) {
      if (!this.offer(element)) rest.push(element)
    }
    return Chunk.unsafeFromArray(rest)
  }

  offer(element: A): boolean {
    if (this.length() >= this.max) return false
    this.items.push(element)
    return true
  }

  capacity(): number {
    return this.max
  }

  length(): number {
    return this.items.length - this.head
  }

  /** Drop the taken slots: all of them when the queue is empty, else once they lead a long array. */
  private compact() {
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head >= compactAfter && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

/** A bounded FIFO of `capacity` elements on one array, for `Queue.make`. */
export const arrayBacking = <A>(capacity: number): Queue.BackingQueue<A> => new ArrayBacking<A>(capacity)
