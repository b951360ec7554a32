export { demoCheckoutBodySchema, CATALOGUE, DEMO_CURRENCY, type Product } from './catalogue.js';
export { CONTENT_SECURITY_POLICY } from './page.js';
export { DEMO_PREFIX, registerDemoRoutes, type DemoDeps } from './routes.js';
