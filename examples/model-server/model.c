/* The example classifier: a small multi-layer perceptron (dense layers, relu, softmax output)
 * whose weights come from a JSON file in the versioned model directory. Loading validates every
 * shape and value, so a truncated or hand-edited export is refused with a reason, never crashes;
 * prediction turns TF Serving's request formats (row "instances" or columnar "inputs") into
 * per-instance class probabilities. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms.h"

#define MODEL_MAX_LAYERS 16
#define MODEL_MAX_WIDTH 4096
#define MODEL_MAX_INSTANCES 100000

enum model_act { ACT_RELU, ACT_SOFTMAX, ACT_LINEAR, ACT_SIGMOID };

struct model_layer {
    int n_in, n_out;
    double *w; /* n_out rows of n_in */
    double *b;
    enum model_act act;
};

struct model {
    char *input_name, *output_name;
    char *release; /* the export's own release label, "" when absent */
    int n_layers;
    int width; /* widest layer, for scratch buffers */
    struct model_layer layers[MODEL_MAX_LAYERS];
};

void model_free(struct model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_layers; i++) {
        free(m->layers[i].w);
        free(m->layers[i].b);
    }
    free(m->input_name);
    free(m->output_name);
    free(m->release);
    free(m);
}

int model_input_dim(const struct model *m) { return m->layers[0].n_in; }
int model_output_dim(const struct model *m) { return m->layers[m->n_layers - 1].n_out; }
const char *model_input_name(const struct model *m) { return m->input_name; }
const char *model_output_name(const struct model *m) { return m->output_name; }
const char *model_release(const struct model *m) { return m->release; }

/* Reads a JSON array of exactly n finite numbers into out. */
static int model_vector_read(const json_t *arr, int n, double *out)
{
    if (!json_is_array(arr) || (int)json_array_size(arr) != n)
        return -1;
    for (int i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return -1;
        out[i] = json_number_value(v);
    }
    return 0;
}

static int model_act_parse(const char *s, enum model_act *act)
{
    static const struct { const char *name; enum model_act act; } acts[] = {
        {"relu", ACT_RELU}, {"softmax", ACT_SOFTMAX}, {"linear", ACT_LINEAR},
        {"sigmoid", ACT_SIGMOID},
    };
    for (size_t i = 0; s && i < sizeof(acts) / sizeof(acts[0]); i++) {
        if (strcmp(s, acts[i].name) == 0) {
            *act = acts[i].act;
            return 0;
        }
    }
    return -1;
}

/* Fills layer i from its JSON object; prev_out is the previous layer's width (0 for the first,
 * which takes its input width from the first weight row). */
static int model_layer_read(struct model_layer *l, const json_t *jl, int i, int prev_out,
                            char *err, size_t errlen)
{
    json_t *w = json_object_get(jl, "weights"), *b = json_object_get(jl, "bias");
    json_t *row0 = json_array_get(w, 0);

    if (!json_is_object(jl) || !json_is_array(w) || !json_is_array(row0) || !json_is_array(b)) {
        snprintf(err, errlen, "layer %d: needs \"weights\" (rows) and \"bias\" arrays", i + 1);
        return -1;
    }
    l->n_out = (int)json_array_size(w);
    l->n_in = prev_out ? prev_out : (int)json_array_size(row0);
    if (l->n_out > MODEL_MAX_WIDTH || l->n_in > MODEL_MAX_WIDTH || l->n_in == 0) {
        snprintf(err, errlen, "layer %d: shape %dx%d is out of range", i + 1, l->n_out, l->n_in);
        return -1;
    }
    if (model_act_parse(json_string_value(json_object_get(jl, "activation")), &l->act) < 0) {
        snprintf(err, errlen, "layer %d: activation must be relu, sigmoid, linear or softmax",
                 i + 1);
        return -1;
    }
    l->w = calloc((size_t)l->n_out * l->n_in, sizeof(double));
    l->b = calloc(l->n_out, sizeof(double));
    if (!l->w || !l->b) {
        snprintf(err, errlen, "layer %d: out of memory", i + 1);
        return -1;
    }
    for (int r = 0; r < l->n_out; r++) {
        json_t *row = json_array_get(w, r);
        if (model_vector_read(row, l->n_in, l->w + (size_t)r * l->n_in) < 0) {
            snprintf(err, errlen, "layer %d: weight row %d must hold %d numbers (has %zu)", i + 1,
                     r + 1, l->n_in, json_is_array(row) ? json_array_size(row) : 0);
            return -1;
        }
    }
    if (model_vector_read(b, l->n_out, l->b) < 0) {
        snprintf(err, errlen, "layer %d: bias must hold %d numbers", i + 1, l->n_out);
        return -1;
    }
    return 0;
}

static int model_layers_read(struct model *m, const json_t *root, char *err, size_t errlen)
{
    json_t *layers = json_object_get(root, "layers");
    size_t n = json_array_size(layers);

    if (!json_is_array(layers) || n == 0 || n > MODEL_MAX_LAYERS) {
        snprintf(err, errlen, "\"layers\" must be an array of 1 to %d layers", MODEL_MAX_LAYERS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int prev = i ? m->layers[i - 1].n_out : 0;
        m->n_layers = (int)i + 1; /* so model_free releases a half-read layer */
        if (model_layer_read(&m->layers[i], json_array_get(layers, i), (int)i, prev, err,
                             errlen) < 0)
            return -1;
        if (m->layers[i].n_in > m->width)
            m->width = m->layers[i].n_in;
        if (m->layers[i].n_out > m->width)
            m->width = m->layers[i].n_out;
    }
    return 0;
}

struct model *model_load(const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    struct model *m = NULL;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);

    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
        goto fail;
    }
    m = calloc(1, sizeof(*m));
    if (!m) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    const char *in = json_string_value(json_object_get(root, "input_name"));
    const char *out = json_string_value(json_object_get(root, "output_name"));
    const char *rel = json_string_value(json_object_get(root, "release"));
    m->input_name = strdup(in ? in : "x");
    m->output_name = strdup(out ? out : "probabilities");
    m->release = strdup(rel ? rel : "");
    if (!m->input_name || !m->output_name || !m->release) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (model_layers_read(m, root, err, errlen) < 0)
        goto fail;
    json_decref(root);
    return m;
fail:
    model_free(m);
    json_decref(root);
    return NULL;
}

static void model_layer_apply(const struct model_layer *l, const double *x, double *y)
{
    for (int r = 0; r < l->n_out; r++) {
        const double *w = l->w + (size_t)r * l->n_in;
        double z = l->b[r];
        for (int c = 0; c < l->n_in; c++)
            z += w[c] * x[c];
        y[r] = z;
    }
    double top = y[0], sum = 0;
    switch (l->act) {
    case ACT_RELU:
        for (int r = 0; r < l->n_out; r++)
            y[r] = y[r] > 0 ? y[r] : 0;
        break;
    case ACT_SIGMOID:
        for (int r = 0; r < l->n_out; r++)
            y[r] = 1.0 / (1.0 + exp(-y[r]));
        break;
    case ACT_SOFTMAX:
        /* Subtracting the largest logit keeps exp() finite for any input. */
        for (int r = 1; r < l->n_out; r++)
            top = y[r] > top ? y[r] : top;
        for (int r = 0; r < l->n_out; r++)
            sum += y[r] = exp(y[r] - top);
        for (int r = 0; r < l->n_out; r++)
            y[r] /= sum;
        break;
    case ACT_LINEAR:
        break;
    }
}

void model_predict(const struct model *m, const double *x, double *y)
{
    double a[MODEL_MAX_WIDTH], b[MODEL_MAX_WIDTH];
    const double *in = x;
    double *out = a;

    for (int i = 0; i < m->n_layers; i++) {
        out = (i % 2) ? b : a;
        model_layer_apply(&m->layers[i], in, out);
        in = out;
    }
    memcpy(y, out, sizeof(double) * model_output_dim(m));
}

/* An instance is a list of numbers, or an object naming the model's input ({"x": [...]}). */
static json_t *model_instance_run(const struct model *m, const json_t *inst, size_t idx,
                                  char *err, size_t errlen)
{
    double x[MODEL_MAX_WIDTH], y[MODEL_MAX_WIDTH];
    int n_in = model_input_dim(m);

    if (json_is_object(inst)) {
        json_t *named = json_object_get(inst, m->input_name);
        if (!named || json_object_size(inst) != 1) {
            snprintf(err, errlen, "instance %zu: an object instance must have exactly the "
                     "input \"%s\"", idx, m->input_name);
            return NULL;
        }
        inst = named;
    }
    if (model_vector_read(inst, n_in, x) < 0) {
        snprintf(err, errlen, "instance %zu: expected a list of %d numbers (input \"%s\" has "
                 "shape [-1,%d])", idx, n_in, m->input_name, n_in);
        return NULL;
    }
    model_predict(m, x, y);
    for (int i = 0; i < model_output_dim(m); i++) {
        if (!isfinite(y[i])) {
            snprintf(err, errlen, "instance %zu: input values too large for the model", idx);
            return NULL;
        }
    }
    json_t *row = json_array();
    for (int i = 0; i < model_output_dim(m); i++)
        json_array_append_new(row, json_real(y[i]));
    return row;
}

/* Finds the instance list: "instances" (row format) or "inputs" (columnar: a list, or an
 * object whose only key is the input name). Sets *columnar for the response key. */
static const json_t *model_request_rows(const struct model *m, const json_t *req, int *columnar,
                                        char *err, size_t errlen)
{
    const json_t *rows = json_object_get(req, "instances");
    const json_t *inputs = json_object_get(req, "inputs");
    const char *sig = json_string_value(json_object_get(req, "signature_name"));

    if (!json_is_object(req)) {
        snprintf(err, errlen, "the request body must be a JSON object");
        return NULL;
    }
    if (json_object_get(req, "signature_name") && (!sig || strcmp(sig, "serving_default"))) {
        snprintf(err, errlen, "unknown signature_name; this model has only \"serving_default\"");
        return NULL;
    }
    if ((rows != NULL) == (inputs != NULL)) {
        snprintf(err, errlen, "the request must have exactly one of \"instances\" or \"inputs\"");
        return NULL;
    }
    *columnar = inputs != NULL;
    if (inputs && json_is_object(inputs))
        rows = json_object_size(inputs) == 1 ? json_object_get(inputs, m->input_name) : NULL;
    else if (inputs)
        rows = inputs;
    if (!json_is_array(rows) || json_array_size(rows) > MODEL_MAX_INSTANCES) {
        snprintf(err, errlen, "\"%s\" must be a list of at most %d instances",
                 *columnar ? "inputs" : "instances", MODEL_MAX_INSTANCES);
        return NULL;
    }
    return rows;
}

json_t *model_predict_json(const struct model *m, const json_t *req, char *err, size_t errlen)
{
    int columnar = 0;
    const json_t *rows = model_request_rows(m, req, &columnar, err, errlen);
    json_t *preds = NULL;

    if (!rows)
        return NULL;
    preds = json_array();
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = model_instance_run(m, json_array_get(rows, i), i, err, errlen);
        if (!row) {
            json_decref(preds);
            return NULL;
        }
        json_array_append_new(preds, row);
    }
    return json_pack("{s:o}", columnar ? "outputs" : "predictions", preds);
}

static json_t *model_tensor_info(const char *name, int dim)
{
    char size[16], tname[96];

    snprintf(size, sizeof(size), "%d", dim);
    snprintf(tname, sizeof(tname), "serving_default_%s:0", name);
    return json_pack("{s:s,s:{s:[{s:s,s:s},{s:s,s:s}],s:b},s:s}", "dtype", "DT_FLOAT",
                     "tensor_shape", "dim", "size", "-1", "name", "", "size", size, "name", "",
                     "unknown_rank", 0, "name", tname);
}

json_t *model_metadata_json(const struct model *m, const char *name, const char *version)
{
    json_t *sig = json_pack(
        "{s:{s:o},s:{s:o},s:s}", "inputs", m->input_name,
        model_tensor_info(m->input_name, model_input_dim(m)), "outputs", m->output_name,
        model_tensor_info(m->output_name, model_output_dim(m)), "method_name",
        "tensorflow/serving/predict");

    return json_pack("{s:{s:s,s:s,s:s},s:{s:{s:{s:o}}}}", "model_spec", "name", name,
                     "signature_name", "", "version", version, "metadata", "signature_def",
                     "signature_def", "serving_default", sig);
}
