from django.urls import path

from frontend import urls_explain, urls_reports, urls_slices, urls_spurious, urls_synthetic
from frontend.pages import (
    datasets,
    embeddings,
    evaluation,
    exports,
    imports,
    jobs,
    masks,
    media,
    pruning,
    review,
    training,
)
from frontend.pages import grid_selection as selection_pages

app_name = "frontend"

urlpatterns = [
    path("", datasets.dataset_list, name="dataset_list"),
    path("datasets/import/", imports.dataset_import, name="dataset_import"),
    path("datasets/<int:dataset_id>/", datasets.dataset_detail, name="dataset_detail"),
    path("datasets/<int:dataset_id>/v/<int:number>/samples/", datasets.sample_grid, name="sample_grid"),
    path(
        "datasets/<int:dataset_id>/v/<int:number>/samples/<int:sample_id>/",
        datasets.sample_detail,
        name="sample_detail",
    ),
    path("media/samples/<int:sample_id>/image", media.sample_image, name="sample_image"),
    path("media/samples/<int:sample_id>/thumbnail", media.sample_thumbnail, name="sample_thumbnail"),
    path("media/samples/<int:sample_id>/mask", media.sample_mask, name="sample_mask"),
    path("media/samples/<int:sample_id>/mask-overlay", media.sample_mask_overlay, name="sample_mask_overlay"),
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/cancel/", jobs.job_cancel, name="job_cancel"),
    path("review/", review.review_queue_list, name="review_queue_list"),
    path("review/new/", review.review_queue_create, name="review_queue_create"),
    path("review/proposals/", review.review_proposal_start, name="review_proposal_start"),
    path("review/queues/<int:queue_id>/", review.review_queue_detail, name="review_queue_detail"),
    path("review/queues/<int:queue_id>/apply/", review.review_queue_apply_page, name="review_queue_apply"),
    path(
        "review/queues/<int:queue_id>/disagreements/",
        review.review_queue_disagreements_page,
        name="review_queue_disagreements",
    ),
    path("review/queues/<int:queue_id>/reviewers/", review.review_queue_reviewers_page, name="review_queue_reviewers"),
    path("review/queues/<int:queue_id>/work/", review.review_work, name="review_work"),
    path("review/items/<int:item_id>/", review.review_item, name="review_item"),
    path("review/queues/<int:queue_id>/bulk/", review.review_bulk_label_page, name="review_bulk_label"),
    path("review/taxonomy/<int:dataset_id>/", review.review_taxonomy, name="review_taxonomy"),
    path("training/", training.training_run_list_page, name="training_run_list"),
    path("training/start/", training.training_run_start_page, name="training_run_start"),
    path("training/runs/<int:run_id>/", training.training_run_detail, name="training_run_detail"),
    path(
        "training/runs/<int:run_id>/checkpoints/<str:which>/",
        training.training_checkpoint_download,
        name="training_checkpoint",
    ),
    path("evaluations/", evaluation.evaluation_list, name="evaluation_list"),
    path("evaluations/start/", evaluation.evaluation_start, name="evaluation_start"),
    path("evaluations/compare/", evaluation.evaluation_compare, name="evaluation_compare"),
    path("evaluations/<int:run_id>/", evaluation.evaluation_report, name="evaluation_report"),
    path(
        "evaluations/<int:run_id>/examples/<path:name>.png",
        evaluation.evaluation_example,
        name="evaluation_example",
    ),
    path("datasets/<int:dataset_id>/v/<int:number>/export/", exports.version_export, name="version_export"),
    path("datasets/<int:dataset_id>/v/<int:number>/masks/", masks.version_masks, name="version_masks"),
    path("exports/", exports.export_list_page, name="export_list"),
    # Clusters, pruning and version diffs (frontend/pages/pruning.py)
    path("pruning/", pruning.pruning_index, name="pruning_index"),
    path("datasets/<int:dataset_id>/v/<int:number>/clusters/", pruning.cluster_runs, name="cluster_runs"),
    path("clusters/<int:cluster_run_id>/c/<int:index>/", pruning.cluster_detail, name="cluster_detail"),
    path("datasets/<int:dataset_id>/v/<int:number>/prune/", pruning.prune_start, name="prune_start"),
    path("prune-runs/<int:prune_run_id>/", pruning.prune_run_detail, name="prune_run_detail"),
    path("prune-runs/<int:prune_run_id>/apply/", pruning.prune_run_apply_view, name="prune_run_apply"),
    path(
        "datasets/<int:dataset_id>/diff/<int:before>/<int:after>/",
        pruning.version_diff_page,
        name="version_diff",
    ),
    # Embeddings, similarity search, duplicates and the map (frontend/pages/embeddings.py)
    path("embeddings/", embeddings.embedding_set_index, name="embedding_set_index"),
    path("embeddings/sets/<int:embedding_set_id>/search/", embeddings.embedding_text_search, name="embedding_search"),
    path("embeddings/maps/<int:map_id>/", embeddings.embedding_map, name="embedding_map"),
    path("embeddings/maps/<int:map_id>/points/", embeddings.embedding_map_points, name="embedding_map_points"),
    path("embeddings/duplicates/<int:run_id>/", embeddings.duplicate_run_detail, name="duplicate_run"),
    path(
        "embeddings/duplicates/<int:run_id>/keep-one/",
        embeddings.duplicate_run_keep_one_view,
        name="duplicate_run_keep_one",
    ),
    path("datasets/<int:dataset_id>/v/<int:number>/embeddings/", embeddings.version_embeddings, name="embeddings"),
    path("datasets/<int:dataset_id>/v/<int:number>/selection/", embeddings.sample_selection, name="sample_selection"),
    path(
        "datasets/<int:dataset_id>/v/<int:number>/samples/<int:sample_id>/similar/",
        embeddings.sample_similar_view,
        name="sample_similar",
    ),
]

# Grad-CAM, spurious features and synthetic counter-examples: each area keeps its own route list.
urlpatterns += urls_explain.urlpatterns + urls_spurious.urlpatterns + urls_synthetic.urlpatterns
urlpatterns += urls_slices.urlpatterns
urlpatterns += urls_reports.urlpatterns  # the generic reports' pages, one set per kind

# Bulk actions on a sample-grid selection (ids or "all matching these filters").
urlpatterns += [
    path(
        "datasets/<int:dataset_id>/v/<int:number>/selection/version/",
        selection_pages.grid_selection_version,
        name="grid_selection_version",
    ),
    path(
        "datasets/<int:dataset_id>/v/<int:number>/selection/label/",
        selection_pages.grid_selection_label,
        name="grid_selection_label",
    ),
    path(
        "datasets/<int:dataset_id>/v/<int:number>/selection/map/",
        selection_pages.grid_selection_map,
        name="grid_selection_map",
    ),
    path(
        "datasets/<int:dataset_id>/v/<int:number>/selection/tag/",
        selection_pages.grid_selection_tag,
        name="grid_selection_tag",
    ),
]
