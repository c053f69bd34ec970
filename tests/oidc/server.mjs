// An independent OpenID Connect provider (oidc-provider) for the CL-6 interoperability test.
// Usage: node server.mjs PORT AUDIENCE CLIENT_SECRET
// Issues client-credentials access tokens as JWT (RFC 9068) for the resource AUDIENCE.
import Provider from 'oidc-provider';

const [port, audience, secret] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'omdp-test-service',
      client_secret: secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    },
  ],
  scopes: ['readings:read', 'operate'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'readings:read operate',
        audience,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
      }),
    },
  },
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
