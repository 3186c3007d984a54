import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from 'jose'

/*
 * Cloudflare Access for tests: the team's signing keys at /cdn-cgi/access/certs (the shape Access
 * serves: {keys: [JWK…]}), and /_fake/sign, which signs the claims it is sent as Access would sign
 * the Cf-Access-Jwt-Assertion of a signed-in user. A second key that is never published signs
 * /_fake/sign-unknown, for a token from anyone else.
 */
export const ACCESS_HOST = 'access.fake.test'

export class FakeAccess {
  private keys = Promise.all([generateKeyPair('RS256'), generateKeyPair('RS256')]).then(async ([published, stranger]) => ({
    published,
    stranger,
    jwk: { ...(await exportJWK(published.publicKey)), kid: 'access-key-1', alg: 'RS256', use: 'sig' } as JWK,
  }))

  handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    const keys = await this.keys
    if (url.pathname === '/cdn-cgi/access/certs') return Response.json({ keys: [keys.jwk] })
    if (request.method === 'POST' && (url.pathname === '/_fake/sign' || url.pathname === '/_fake/sign-unknown')) {
      const claims = (await request.json()) as Record<string, unknown> & { expiresIn?: string }
      const { expiresIn, ...payload } = claims
      const key: CryptoKey = url.pathname === '/_fake/sign' ? keys.published.privateKey : keys.stranger.privateKey
      const jwt = await new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: 'access-key-1' })
        .setIssuedAt()
        .setExpirationTime(expiresIn ?? '10m')
        .sign(key)
      return new Response(jwt)
    }
    return new Response('not found', { status: 404 })
  }
}
