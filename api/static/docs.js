// Swagger UI on the app's own OpenAPI document; a file of its own, as the CSP allows no inline script.
window.ui = SwaggerUIBundle({url: document.body.dataset.spec, dom_id: "#swagger-ui", deepLinking: true});
