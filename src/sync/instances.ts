/*
 * Workflow instances, for the sync and the integration-deletion Workflows. The binding hands back
 * each instance as an RPC stub, and a stub is released when it is disposed, not when it is garbage
 * collected: workerd warns "An RPC result was not disposed properly" and holds it until then. So
 * every call here disposes its stub as soon as the answer is in, and nothing else touches one.
 */

async function withInstance<T>(instance: Promise<WorkflowInstance>, use: (i: WorkflowInstance) => Promise<T> | T): Promise<T> {
  const stub: WorkflowInstance & Partial<Disposable> = await instance
  try {
    return await use(stub)
  } finally {
    stub[Symbol.dispose]?.()
  }
}

/** Starts an instance; its id. */
export const startInstance = <P>(workflow: Workflow<P>, options: WorkflowInstanceCreateOptions<P>): Promise<string> =>
  withInstance(workflow.create(options), (i) => i.id)

/** The instance's state (queued, running, errored…), or 'missing' when the platform has no such instance. */
export const instanceStatus = (workflow: Workflow, id: string): Promise<string> =>
  withInstance(workflow.get(id), async (i) => (await i.status()).status).catch(() => 'missing')

/** Ends an instance that may still be going; one that is already gone or finished is left as it is. */
export const terminateInstance = (workflow: Workflow, id: string): Promise<void> =>
  withInstance(workflow.get(id), (i) => i.terminate()).catch(() => undefined)
