/** The little of restify 11 the reference bot uses (the package ships no types). */
declare module 'restify' {
  import type { Request, Response } from 'botbuilder';
  interface Server {
    use(handler: unknown): void;
    post(path: string, handler: (req: Request, res: Response) => Promise<void>): void;
    listen(port: number, host: string, cb: () => void): void;
    address(): { port: number };
    close(cb?: () => void): void;
  }
  const restify: {
    createServer(options?: Record<string, unknown>): Server;
    plugins: { bodyParser(options?: Record<string, unknown>): unknown };
  };
  export default restify;
}
